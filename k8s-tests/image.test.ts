// The container image: non-root, `eventfleet --help`, a role on a read-only root filesystem serving /readyz against
// the emulator stack, and SIGTERM ending it with exit 0 within its budget. Skipped (with the reason) when the image
// has not been built: `make image` takes minutes, and CI decides whether to build it.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { createTestEnv } from "../test/support/stack.ts";
import { freePort } from "../test/support/ports.ts";
import { waitFor } from "../test/support/wait.ts";
import { IMAGE, imageMissingReason, podman } from "./support/image.ts";
import { IMAGE_NODE_OPTIONS } from "../scripts/image-node-options.ts";
import { compileCacheVerdicts } from "../test/support/compile-cache-log.ts";

// `make test` builds the image first and sets EVENTFLEET_REQUIRE_IMAGE=1: there a missing image fails instead of skipping.
const skip = process.env.EVENTFLEET_REQUIRE_IMAGE === "1" ? undefined : await imageMissingReason();
const SHUTDOWN_TIMEOUT_MS = 10_000;

interface ImageConfig {
  Config: {
    User?: string;
    Env?: string[];
    Entrypoint?: string[];
    Cmd?: string[];
    Labels?: Record<string, string>;
    ExposedPorts?: object;
  };
}

/** Runs `node -e script` in the image: it has no shell, so node inspects it from inside. */
const nodeInImage = (script: string) =>
  podman(["run", "--rm", "--network", "host", "--entrypoint", "/usr/local/bin/node", IMAGE, "-e", script]);

void describe(`container image ${IMAGE}`, { skip }, () => {
  const containers: string[] = [];
  after(async () => {
    for (const name of containers) await podman(["rm", "-f", "-t", "0", name]);
  });

  void test("runs as a numeric non-root user with eventfleet as the entrypoint and OCI labels", async () => {
    const { stdout } = await podman(["image", "inspect", IMAGE]);
    const [image] = JSON.parse(stdout) as ImageConfig[];
    assert.ok(image);
    assert.match(image.Config.User ?? "", /^[1-9]\d*(:\d+)?$/);
    assert.deepEqual(image.Config.Entrypoint, ["/usr/local/bin/eventfleet"]);
    for (const label of ["title", "version", "revision", "created", "source", "licenses"]) {
      assert.ok(
        image.Config.Labels?.[`org.opencontainers.image.${label}`],
        `label org.opencontainers.image.${label}`,
      );
    }
    const id = await nodeInImage("process.stdout.write(String(process.getuid()))");
    assert.equal(id.stdout.trim(), image.Config.User?.split(":")[0], id.stderr);
  });

  void test("runs node with the options scripts/image-node-options.ts declares (what the benchmarks measure)", async () => {
    const { stdout } = await podman(["image", "inspect", IMAGE]);
    const [image] = JSON.parse(stdout) as ImageConfig[];
    assert.ok(
      image?.Config.Env?.includes(`NODE_OPTIONS=${IMAGE_NODE_OPTIONS}`),
      `NODE_OPTIONS=${IMAGE_NODE_OPTIONS} in ${JSON.stringify(image?.Config.Env)}`,
    );
  });

  void test("a role on a read-only root runs its chunks from the compile cache built into the image", async () => {
    // No configuration: the worker loads its code, then stops at the first missing variable (exit 2).
    const run = await podman([
      "run",
      "--rm",
      "--network",
      "host",
      "--read-only",
      "-e",
      "NODE_DEBUG_NATIVE=COMPILE_CACHE",
      IMAGE,
      "worker",
      "inventory",
    ]);
    assert.equal(run.code, 2, run.stderr);
    const { accepted, compiled, lines } = compileCacheVerdicts(run.stderr, "/app/dist");
    assert.deepEqual(compiled, [], `every chunk but cli.js from the cache:\n${lines.join("\n")}`);
    assert.ok(accepted.length >= 10, lines.join("\n"));
  });

  void test("`eventfleet --help` works on a read-only root filesystem", async () => {
    const help = await podman(["run", "--rm", "--network", "host", "--read-only", IMAGE, "--help"]);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /Usage: eventfleet/);
    for (const role of ["api", "relay", "worker"]) assert.match(help.stdout, new RegExp(`\\n\\s+${role}\\b`));
  });

  void test("runs the bundle and ships only its externals in node_modules: no sources, tests, npm, shell or credentials", async () => {
    // Listed by node inside the image (there is no shell): what exists at each path, and the node_modules packages.
    const script = `
      const { existsSync, readdirSync } = require("node:fs");
      const packages = readdirSync("/app/node_modules").flatMap((name) =>
        name.startsWith("@") ? readdirSync("/app/node_modules/" + name).map((n) => name + "/" + n) : [name]);
      const paths = ["/app/dist/eventfleet.js", "/app/shared/orders/order-create.lua", "/app/cli", "/app/bin",
        "/bin/sh", "/usr/local/bin/npm", "/usr/local/lib/node_modules", "/root/.npmrc", "/run/secrets/npm-ca"];
      process.stdout.write(JSON.stringify({ packages, exists: Object.fromEntries(paths.map((p) => [p, existsSync(p)])) }));`;
    const check = await nodeInImage(script);
    assert.equal(check.code, 0, check.stderr);
    const { packages, exists } = JSON.parse(check.stdout) as {
      packages: string[];
      exists: Record<string, boolean>;
    };
    assert.deepEqual(exists, {
      "/app/dist/eventfleet.js": true,
      "/app/shared/orders/order-create.lua": true,
      "/app/cli": false,
      "/app/bin": false,
      "/bin/sh": false,
      "/usr/local/bin/npm": false,
      "/usr/local/lib/node_modules": false,
      "/root/.npmrc": false,
      "/run/secrets/npm-ca": false,
    });
    assert.ok(
      packages.includes("pino-pretty"),
      `pino-pretty (left out of the bundle) is installed: ${packages.join(" ")}`,
    );
    for (const bundled of [
      "pino",
      "prom-client",
      "@aws-sdk",
      "@azure",
      "ioredis",
      "express",
      "typescript",
      "esbuild",
      "azurite",
    ]) {
      const found = packages.filter((name) => name === bundled || name.startsWith(`${bundled}/`));
      assert.deepEqual(
        found,
        [],
        `${bundled} is not in node_modules (bundled or dev-only): ${packages.join(" ")}`,
      );
    }
  });

  void test("has the `sleep` the chart's preStop hook of the API runs (the image has no shell)", async () => {
    const sleep = await podman([
      "run",
      "--rm",
      "--network",
      "host",
      "--read-only",
      "--entrypoint",
      "sleep",
      IMAGE,
      "0",
    ]);
    assert.equal(sleep.code, 0, sleep.stderr);
  });

  // Each role gets its own EVENTFLEET_ENV with freshly provisioned queues and topic: no other test's data.
  const roles = (process.env.EVENTFLEET_IMAGE_ROLES ?? "api,relay,worker inventory")
    .split(",")
    .map((r) => r.trim().split(" "));
  for (const role of roles) {
    void describe(`${role.join(" ")} on a read-only root with the emulator stack`, () => {
      let env: Record<string, string> = {};
      let port = 0;
      let apiPort = 0;
      const name = `eventfleet-image-test-${randomUUID().slice(0, 8)}`;

      before(async () => {
        env = await createTestEnv({ aws: true });
        port = await freePort();
        apiPort = await freePort();
      });
      void test("serves /readyz, then exits 0 on SIGTERM within its budget", async () => {
        const envArgs = Object.entries({
          ...env,
          MANAGEMENT_PORT: String(port),
          // Host network: the API's default 8080 may be taken on this machine.
          API_PORT: String(apiPort),
          SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
          LOG_LEVEL: "warn",
        }).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
        containers.push(name);
        // Like the pod: read-only root, only /tmp writable, host network so it reaches the emulators on 127.0.0.1.
        const started = await podman([
          "run",
          "-d",
          "--name",
          name,
          "--network",
          "host",
          "--read-only",
          "--read-only-tmpfs=false",
          "--tmpfs",
          "/tmp:rw,size=64m",
          "--cap-drop",
          "ALL",
          "--security-opt",
          "no-new-privileges",
          ...envArgs,
          IMAGE,
          ...role,
        ]);
        assert.equal(started.code, 0, started.stderr);

        const logs = async () => {
          const { stdout, stderr } = await podman(["logs", name]);
          return stdout + stderr;
        };
        // Stops waiting as soon as the container exits (a crash at start), so the logs show up at once.
        const outcome = await waitFor(
          async () => {
            const state = await podman(["inspect", "--format", "{{.State.Status}}", name]);
            if (state.stdout.trim() === "exited") return "exited";
            const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
            return res?.status === 200 ? "ready" : undefined;
          },
          {
            timeoutMs: 90_000,
            intervalMs: 250,
            description: `${role.join(" ")} in the image serves /readyz`,
          },
        ).catch(async (error: unknown) => {
          throw new Error(`${(error as Error).message}\ncontainer logs:\n${await logs()}`);
        });
        assert.equal(outcome, "ready", `the container exited before it became ready:\n${await logs()}`);

        const killed = await podman(["kill", "--signal", "TERM", name]);
        assert.equal(killed.code, 0, killed.stderr);
        const exit = await waitFor(
          async () => {
            const { stdout } = await podman([
              "inspect",
              "--format",
              "{{.State.Status}} {{.State.ExitCode}}",
              name,
            ]);
            const [status, code] = stdout.trim().split(" ");
            return status === "exited" ? Number(code) : undefined;
          },
          {
            timeoutMs: SHUTDOWN_TIMEOUT_MS + 20_000,
            intervalMs: 200,
            description: "the container exits after SIGTERM",
          },
        );
        assert.equal(exit, 0, await logs());
      });
    });
  }
});
