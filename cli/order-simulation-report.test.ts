import { Writable } from "node:stream";
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { percentile, type SimulationProgress } from "../api/order-simulator.ts";
import { progressLine, type ReportContext } from "./order-simulation-report.ts";
import { orderProgress } from "./simulate-commands.ts";

/** A terminal of `columns` columns as cli-progress sees one (isTTY, columns); keeps everything written to it. */
function fakeTerminal(columns: number) {
  let written = "";
  const stream = Object.assign(
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        written += chunk.toString();
        done();
      },
    }),
    { isTTY: true, columns },
  );
  return { stream, written: () => written };
}

// A run far enough along that every number is wide: the line the issue saw scroll in 80 columns.
const busy: SimulationProgress = {
  sent: 12_345,
  accepted: 11_000,
  refused: { 429: 1_151, 400: 3 },
  refusedBecause: {},
  failed: 191,
  failures: {},
  elapsedMs: 61_000,
  latenciesMs: Array.from({ length: 1000 }, (_, i) => 1 + i / 10),
  orderIds: [],
};
const context: ReportContext = { count: 20_000, rate: 250, apiUrl: "http://127.0.0.1:8080", percentile };
const bar = (width: number) => "#".repeat(width);

describe("simulate orders progress line", () => {
  for (const columns of [40, 60, 80, 100, 160]) {
    test(`fits a ${columns}-column terminal${columns >= 80 ? ", keeping the totals" : ""}`, () => {
      const line = progressLine(busy, context, bar, columns);
      assert.ok(line.length < columns, `${line.length} chars: ${line}`);
      if (columns >= 80) {
        assert.match(
          line,
          /^(\[#+\] )?orders 12345\/20000 · accepted 11000 · refused 400×3 429×1151 · failed 191/,
        );
      }
    });
  }

  test("a wide terminal gets the bar, the rate and the latencies", () => {
    assert.match(
      progressLine(busy, context, bar, 200),
      /^\[#{30}\] orders .* · \d+\.\d\/s · p50 .* ms · p99 .* ms$/,
    );
  });

  test("drawn by cli-progress on an 80-column terminal: redrawn in place, never longer than a line", async () => {
    const terminal = fakeTerminal(80);
    const progress = await orderProgress(terminal.stream, context);
    for (let i = 1; i <= 5; i++) progress.update({ ...busy, accepted: busy.accepted + i * 1000 });
    progress.stop();
    const output = terminal.written();
    assert.doesNotMatch(output, /\n/, "redraws move the cursor back instead of starting new lines");
    // What is visible: the text between the escape sequences that move the cursor and clear the line.
    const escape = new RegExp(`${String.fromCharCode(27)}(?:\\[[0-9;?]*[A-Za-z]|[78])`);
    const drawn = output.split(escape).filter((text) => text.length > 0);
    assert.ok(drawn.length > 0, "something was drawn");
    for (const text of drawn) assert.ok(text.length < 80, `${text.length} columns: ${text}`);
    assert.ok(drawn.some((text) => text.includes("orders 1")));
  });
});
