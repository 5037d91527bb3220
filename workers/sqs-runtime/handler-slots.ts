// A counting semaphore for handler slots; on shutdown, whoever still waits is refused (and released by the caller).

export class HandlerSlots {
  #free: number;
  readonly #waiting: Array<(granted: boolean) => void> = [];

  constructor(size: number) {
    this.#free = size;
  }

  /** Resolves true when a slot is taken, false when refused because of shutdown. */
  acquire(): Promise<boolean> {
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  release(): void {
    const next = this.#waiting.shift();
    if (next) next(true);
    else this.#free++;
  }

  /** Refuses every waiter: their messages have not started and can go back to the queue at once. */
  refuseWaiting(): void {
    for (const waiter of this.#waiting.splice(0)) waiter(false);
  }

  get waiting(): number {
    return this.#waiting.length;
  }
}
