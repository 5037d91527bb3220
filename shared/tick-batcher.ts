// Serves requests made in the same turn of the event loop with one call per batch: the handlers of one received
// batch finish together, so their Redis lookups, marker writes and SQS deletes can share a command each.

interface Pending<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

export class TickBatcher<T, R> {
  readonly #run: (items: T[]) => Promise<R[]>;
  readonly #max: number;
  #pending: Array<Pending<T, R>> = [];
  #scheduled = false;

  /** `run` answers a batch of at most `max` items with one result per item, in order. */
  constructor(run: (items: T[]) => Promise<R[]>, options: { max: number }) {
    if (!Number.isInteger(options.max) || options.max < 1) throw new Error("max must be a positive integer");
    this.#run = run;
    this.#max = options.max;
  }

  /** Resolves with this item's result, or rejects with the error of its whole batch. */
  request(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#pending.push({ item, resolve, reject });
      if (this.#pending.length >= this.#max) void this.#send(this.#pending.splice(0));
      else if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => {
          this.#scheduled = false;
          while (this.#pending.length > 0) void this.#send(this.#pending.splice(0, this.#max));
        });
      }
    });
  }

  async #send(batch: Array<Pending<T, R>>): Promise<void> {
    try {
      const results = await this.#run(batch.map((p) => p.item));
      if (results.length !== batch.length)
        throw new Error(`a batch of ${batch.length} got ${results.length} results`);
      batch.forEach((p, i) => p.resolve(results[i]!));
    } catch (error) {
      for (const p of batch) p.reject(error);
    }
  }
}
