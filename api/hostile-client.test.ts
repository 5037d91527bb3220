// What a hostile or careless client can send: wrong encodings and charsets, oversized headers, control
// characters, slow trickles and endless connections. Each answer is a 4xx problem+json, never a 5xx or a hang.
import { randomUUID } from "node:crypto";
import { Agent, request as httpRequest } from "node:http";
import { connect, type Socket } from "node:net";
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { brotliCompressSync, gzipSync } from "node:zlib";
import { pino } from "pino";
import type { Counter } from "prom-client";
import { withInProcessApi, type InProcessApi } from "../test/support/in-process-api.ts";
import { waitFor } from "../test/support/wait.ts";
import { validOrder } from "../test/support/sample-order.ts";

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Milliseconds from the first byte sent to the end of the answer. */
  ms: number;
}

/** Parses one HTTP/1.1 answer (with Content-Length) from raw bytes. */
function parseRaw(text: string, ms: number): RawAnswer {
  const [head = "", ...rest] = text.split("\r\n\r\n");
  const [statusLine = "", ...lines] = head.split("\r\n");
  const headers = Object.fromEntries(
    lines.map((line) => [
      line.slice(0, line.indexOf(":")).toLowerCase(),
      line.slice(line.indexOf(":") + 1).trim(),
    ]),
  );
  return { status: Number(statusLine.split(" ")[1]), headers, body: rest.join("\r\n\r\n"), ms };
}

/**
 * Opens a TCP connection, sends `chunks` one after another `gapMs` apart (a trickling client), and resolves with
 * the server's answer once the server closes the connection (or rejects after `deadlineMs`).
 */
function rawExchange(
  api: InProcessApi,
  chunks: (string | Buffer)[],
  options: { gapMs?: number; deadlineMs?: number } = {},
): Promise<RawAnswer> {
  const { gapMs = 0, deadlineMs = 20_000 } = options;
  const port = Number(new URL(api.url).port);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket: Socket = connect(port, "127.0.0.1");
    const received: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    const deadline = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${deadlineMs} ms (the server held the connection)`));
    }, deadlineMs);
    socket.on("data", (data) => received.push(data));
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(deadline);
      clearTimeout(timer);
      resolve(parseRaw(Buffer.concat(received).toString("utf8"), Date.now() - started));
    });
    let next = 0;
    const sendNext = () => {
      if (next >= chunks.length || socket.destroyed) return;
      socket.write(chunks[next++]!);
      timer = setTimeout(sendNext, gapMs);
    };
    socket.on("connect", sendNext);
  });
}

async function post(api: InProcessApi, body: Buffer | string, headers: Record<string, string>) {
  const response = await fetch(`${api.url}/v1/orders`, { method: "POST", headers, body });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

void describe("a hostile client gets 4xx problems, never a 5xx", () => {
  const api = withInProcessApi();

  for (const encoding of ["gzip", "deflate", "br"]) {
    void test(`a body that claims Content-Encoding: ${encoding} but is not compressed is a 400 problem`, async () => {
      const answer = await post(api, JSON.stringify(validOrder()), {
        "content-type": "application/json",
        "content-encoding": encoding,
      });
      assert.equal(answer.status, 400, JSON.stringify(answer.body));
      assert.equal(answer.headers.get("content-type"), "application/problem+json; charset=utf-8");
      assert.equal(answer.body.type, "https://eventfleet.dev/problems/bad-content-encoding");
    });
  }

  void test("a body really compressed with gzip or br is accepted", async () => {
    for (const [encoding, compress] of [
      ["gzip", gzipSync],
      ["br", brotliCompressSync],
    ] as const) {
      const answer = await post(api, compress(Buffer.from(JSON.stringify(validOrder()))), {
        "content-type": "application/json",
        "content-encoding": encoding,
      });
      assert.equal(answer.status, 202, `${encoding}: ${JSON.stringify(answer.body)}`);
    }
  });

  void test("charset=utf-16 (or any charset but UTF-8) is the documented 415, not a 400", async () => {
    const body = Buffer.from(`\ufeff${JSON.stringify(validOrder())}`, "utf16le");
    for (const contentType of [
      "application/json; charset=utf-16",
      "application/json; charset=UTF-16LE",
      "application/json; charset=latin1",
    ]) {
      const answer = await post(api, body, { "content-type": contentType });
      assert.equal(answer.status, 415, `${contentType}: ${JSON.stringify(answer.body)}`);
      assert.equal(answer.body.type, "https://eventfleet.dev/problems/unsupported-media-type");
    }
    const utf8 = await post(api, JSON.stringify(validOrder()), {
      "content-type": 'application/json; charset="UTF-8"',
    });
    assert.equal(utf8.status, 202);
  });

  void test("headers over the limit get a 431 problem+json with X-Request-Id, not Node's bare 431", async () => {
    const answer = await rawExchange(api, [
      `GET /v1/orders/${randomUUID()} HTTP/1.1\r\nHost: x\r\nX-Request-Id: big-1\r\nX-Pad: ${"a".repeat(20_000)}\r\n\r\n`,
    ]);
    assert.equal(answer.status, 431);
    assert.equal(answer.headers["content-type"], "application/problem+json; charset=utf-8");
    assert.equal(answer.headers["x-request-id"], "big-1");
    const problem = JSON.parse(answer.body) as Record<string, unknown>;
    assert.equal(problem.status, 431);
    assert.equal(problem.type, "https://eventfleet.dev/problems/headers-too-large");
    assert.equal(problem.requestId, "big-1");
  });

  void test("malformed HTTP is a 400 problem+json with a fresh X-Request-Id", async () => {
    const answer = await rawExchange(api, ["GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n"]);
    assert.equal(answer.status, 400);
    assert.equal(answer.headers["content-type"], "application/problem+json; charset=utf-8");
    assert.match(answer.headers["x-request-id"] ?? "", /^[0-9a-f-]{36}$/);
  });

  const UNSAFE: [string, string][] = [
    ["NUL", "A\u0000da"],
    ["CR LF (header or log injection)", "Ada\r\nX-Injected: 1"],
    ["ESC (terminal escapes)", "Ada\u001b[31m"],
    ["C1 control", "Ada\u0085"],
    ["right-to-left override", "Ada\u202Egnp.exe"],
    ["right-to-left isolate", "\u2067Ada"],
    ["lone high surrogate", "Ada\ud800"],
    ["lone low surrogate", "\udc00Ada"],
  ];
  for (const [what, value] of UNSAFE) {
    void test(`refuses ${what} in names, address lines and ids (400 naming the field)`, async () => {
      for (const [path, set] of [
        [
          "shippingAddress.name",
          (o: Record<string, unknown>) => ((o.shippingAddress as Record<string, unknown>).name = value),
        ],
        [
          "shippingAddress.line1",
          (o: Record<string, unknown>) => ((o.shippingAddress as Record<string, unknown>).line1 = value),
        ],
        [
          "shippingAddress.city",
          (o: Record<string, unknown>) => ((o.shippingAddress as Record<string, unknown>).city = value),
        ],
        ["customerId", (o: Record<string, unknown>) => (o.customerId = value)],
      ] as const) {
        const order = validOrder();
        set(order);
        const answer = await post(api, JSON.stringify(order), { "content-type": "application/json" });
        assert.equal(answer.status, 400, `${path}: ${JSON.stringify(answer.body)}`);
        const paths = (answer.body.errors as { path: string }[]).map((e) => e.path);
        assert.ok(paths.includes(path), `${path} named: ${JSON.stringify(answer.body.errors)}`);
      }
    });
  }

  void test("accepts what human text does need: any script, emoji, combining marks; line breaks in a cancel reason", async () => {
    const order = validOrder();
    (order.shippingAddress as Record<string, unknown>).name = "Zoë 山田 🚚 محمد";
    (order.shippingAddress as Record<string, unknown>).city = "Zu\u0308rich";
    const placed = await post(api, JSON.stringify(order), { "content-type": "application/json" });
    assert.equal(placed.status, 202, JSON.stringify(placed.body));
    const cancel = await fetch(`${api.url}/v1/orders/${String(placed.body.id)}/cancel`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ reason: "line one\r\nline two\tand a tab" }),
    });
    assert.equal(cancel.status, 202);
    const refused = await fetch(`${api.url}/v1/orders/${String(placed.body.id)}/cancel`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ reason: "bidi \u202E override" }),
    });
    assert.equal(refused.status, 400);
  });
});

void describe("slow and greedy clients are cut off by the configured limits", () => {
  const api = withInProcessApi({
    server: { headersTimeoutMs: 1000, requestTimeoutMs: 2000, maxRequestsPerConnection: 2 },
  });

  void test("headers trickled one byte at a time get 408 after API_HEADERS_TIMEOUT_MS, not Node's 300 s", async () => {
    const head = `GET /v1/orders/${randomUUID()} HTTP/1.1\r\nHost: x\r\nX-Request-Id: slow-head\r\n\r\n`;
    const answer = await rawExchange(api, [...head], { gapMs: 200, deadlineMs: 15_000 });
    assert.equal(answer.status, 408);
    assert.equal(answer.headers["content-type"], "application/problem+json; charset=utf-8");
    assert.ok(answer.ms < 10_000, `cut off after ${answer.ms} ms`);
  });

  void test("a body trickled at 1 byte/s gets 408 after API_REQUEST_TIMEOUT_MS", async () => {
    const body = JSON.stringify(validOrder());
    const head =
      "POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
    const answer = await rawExchange(api, [head, ...body], { gapMs: 1000, deadlineMs: 15_000 });
    assert.equal(answer.status, 408, answer.body);
    assert.ok(answer.ms < 10_000, `cut off after ${answer.ms} ms`);
    assert.equal(
      (JSON.parse(answer.body) as { type: string }).type,
      "https://eventfleet.dev/problems/request-timeout",
    );
  });

  void test("a keep-alive connection is closed after API_MAX_REQUESTS_PER_CONNECTION requests", async () => {
    const port = Number(new URL(api.url).port);
    const get = (socket: { agent: Agent }) =>
      new Promise<string | undefined>((resolve, reject) => {
        const request = httpRequest(
          { port, host: "127.0.0.1", path: "/openapi.json", agent: socket.agent },
          (response) => {
            response.resume();
            response.on("end", () => resolve(response.headers.connection));
          },
        );
        request.on("error", reject);
        request.end();
      });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      assert.equal(await get({ agent }), "keep-alive");
      assert.equal(await get({ agent }), "close", "the second request is the last on this connection");
    } finally {
      agent.destroy();
    }
  });
});

void describe("what Node's HTTP parser refuses before Express is logged once and counted", () => {
  const lines: Record<string, unknown>[] = [];
  const api = withInProcessApi({
    server: { headersTimeoutMs: 1000, requestTimeoutMs: 2000 },
    logger: pino(
      { level: "info" },
      { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
    ),
  });

  /** The log lines of parser errors with `reason`, once at least one is there (each must come once: checked). */
  const parserLogs = (reason: string) =>
    waitFor(
      () => {
        const found = lines.filter((l) => l.msg === "http parser error" && l.reason === reason);
        return found.length > 0 && found;
      },
      { timeoutMs: 10_000, description: `a 'http parser error' log line with reason ${reason}` },
    );

  async function counted(reason: string): Promise<number> {
    const counter = api.registry.getSingleMetric("eventfleet_http_parser_errors_total") as
      Counter | undefined;
    assert.ok(counter, "eventfleet_http_parser_errors_total is registered");
    const { values } = await counter.get();
    return values.find((v) => v.labels.reason === reason)?.value ?? 0;
  }

  void test("an oversized header: 431 answered, one log line without the header, header_overflow counted", async () => {
    const pad = "p".repeat(20_000);
    const answer = await rawExchange(api, [
      `GET /v1/orders/${randomUUID()} HTTP/1.1\r\nHost: x\r\nX-Request-Id: overflow-1\r\nX-Pad: ${pad}\r\n\r\n`,
    ]);
    assert.equal(answer.status, 431);
    assert.equal((JSON.parse(answer.body) as { status: number }).status, 431);
    const [line, ...more] = await parserLogs("header_overflow");
    assert.equal(more.length, 0, "logged once");
    assert.equal(line!.status, 431);
    assert.equal(line!.code, "HPE_HEADER_OVERFLOW");
    assert.equal(line!.requestId, "overflow-1");
    assert.equal(line!.answered, true);
    assert.ok(!JSON.stringify(line).includes("ppppp"), "no request content in the log");
    assert.equal(await counted("header_overflow"), 1);
  });

  void test("a garbage request line: 400 answered, one log line, bad_request counted", async () => {
    const answer = await rawExchange(api, ["\u0016\u0003\u0001 secret-garbage \r\n\r\n"]);
    assert.equal(answer.status, 400);
    assert.equal(answer.headers["content-type"], "application/problem+json; charset=utf-8");
    const [line, ...more] = await parserLogs("bad_request");
    assert.equal(more.length, 0, "logged once");
    assert.equal(line!.status, 400);
    assert.match(String(line!.code), /^HPE_/);
    assert.ok(!JSON.stringify(line).includes("secret-garbage"), "no request content in the log");
    assert.equal(await counted("bad_request"), 1);
  });

  void test("headers that never end: 408 after the headers timeout, one log line, timeout counted", async () => {
    // Part of a head, then silence: the server must cut it off at API_HEADERS_TIMEOUT_MS (1 s here).
    const answer = await rawExchange(
      api,
      ["GET /v1/orders HTTP/1.1\r\nHost: x\r\nX-Request-Id: slow-2\r\n"],
      {
        deadlineMs: 15_000,
      },
    );
    assert.equal(answer.status, 408);
    assert.equal(answer.headers["content-type"], "application/problem+json; charset=utf-8");
    const [line, ...more] = await parserLogs("timeout");
    assert.equal(more.length, 0, "logged once");
    assert.equal(line!.status, 408);
    assert.equal(line!.code, "ERR_HTTP_REQUEST_TIMEOUT");
    assert.equal(await counted("timeout"), 1);
    assert.equal(await counted("header_overflow"), 1, "each reason counted on its own");
  });
});
