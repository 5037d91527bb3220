// fast-check arbitraries for fuzzing the order API, shared by its fuzz test and the chaos API run.
import fc from "fast-check";

export interface JsonArbitraryOptions {
  /** Object keys: the ones that attack object handling, mixed with arbitrary strings. */
  keys: fc.Arbitrary<string>;
  /** Numbers added to the edge cases every run tries. */
  extraNumbers?: number[];
  /** Longest generated string (unbounded when absent). */
  maxStringLength?: number;
  /** Mix in strings that look like numbers JSON cannot hold ("NaN", "1e999", …). */
  numberLikeStrings?: boolean;
}

/** Keys from `dangerous` or arbitrary strings (of at most `maxLength`). */
export function nastyKeys(dangerous: string[], maxLength?: number): fc.Arbitrary<string> {
  return fc.oneof(fc.constantFrom(...dangerous), fc.string(maxLength === undefined ? {} : { maxLength }));
}

/** Anything JSON can say: nested arrays and objects of edge-case numbers, strings and the given keys. */
export function jsonArbitrary(options: JsonArbitraryOptions): fc.Arbitrary<unknown> {
  const number = fc.oneof(
    fc.integer(),
    fc.double(),
    fc.constantFrom(1e308, -1e308, 2 ** 53 + 1, -0, 0.1, 10_001, 1e21, ...(options.extraNumbers ?? [])),
  );
  const string = fc.string({
    unit: "grapheme",
    ...(options.maxStringLength === undefined ? {} : { maxLength: options.maxStringLength }),
  });
  return fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: "small" },
      fc.constant(null),
      fc.boolean(),
      number,
      string,
      ...(options.numberLikeStrings ? [fc.constantFrom("NaN", "Infinity", "1e999", "")] : []),
      fc.array(tie("value"), { maxLength: 5 }),
      fc.dictionary(options.keys, tie("value"), { maxKeys: 5 }),
    ),
  })).value;
}

/** Every path into `value`, down to its leaves. */
export function leafPaths(value: unknown, prefix: string[] = []): string[][] {
  if (value === null || typeof value !== "object") return [prefix];
  return [
    ...(prefix.length > 0 ? [prefix] : []),
    ...Object.entries(value).flatMap(([k, v]) => leafPaths(v, [...prefix, k])),
  ];
}

/** `base()` with one field (deep paths included) replaced by a value from `json`. */
export function mutatedOrder(
  base: () => Record<string, unknown>,
  json: fc.Arbitrary<unknown>,
): fc.Arbitrary<Record<string, unknown>> {
  return fc.tuple(fc.constantFrom(...leafPaths(base())), json).map(([path, value]) => {
    const order = structuredClone(base());
    let target = order;
    for (const key of path.slice(0, -1)) target = target[key] as Record<string, unknown>;
    target[path.at(-1)!] = value;
    return order;
  });
}
