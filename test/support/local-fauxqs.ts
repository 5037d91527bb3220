// A fauxqs (SNS+SQS emulator) of a test's own, in-process, that the test can stop and start again on the
// same port (the shared emulator must never be stopped). Provisions the orders topic and the three worker
// queues with the filter policies of shared/topology/topology.ts.
import { startFauxqs, type FauxqsServer } from "fauxqs";
import { FILTERS } from "../../shared/topology/topology.ts";

export interface LocalFauxqs {
  /** AWS_ENDPOINT_URL, AWS_REGION, ORDERS_TOPIC_ARN, <WORKER>_QUEUE_URL. */
  readonly env: Record<string, string>;
  /** Queue name of a worker (`<prefix>-inventory`...). */
  queueName(worker: string): string;
  server(): FauxqsServer | undefined;
  stop(): Promise<void>;
  /** Starts again on the same port with the same topic, queues and subscriptions (messages are gone). */
  start(): Promise<void>;
}

export async function startLocalFauxqs(prefix: string): Promise<LocalFauxqs> {
  const region = "us-east-1";
  const init = {
    queues: Object.keys(FILTERS).map((worker) => ({ name: `${prefix}-${worker}` })),
    topics: [{ name: `${prefix}-orders` }],
    subscriptions: Object.entries(FILTERS).map(([worker, types]) => ({
      topic: `${prefix}-orders`,
      queue: `${prefix}-${worker}`,
      attributes: { RawMessageDelivery: "true", FilterPolicy: JSON.stringify({ type: types }) },
    })),
  };
  let server: FauxqsServer | undefined = await startFauxqs({ port: 0, logger: false, init });
  const port = server.port;
  const env: Record<string, string> = {
    AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`,
    AWS_REGION: region,
    ORDERS_TOPIC_ARN: `arn:aws:sns:${region}:000000000000:${prefix}-orders`,
  };
  for (const worker of Object.keys(FILTERS)) {
    env[`${worker.toUpperCase()}_QUEUE_URL`] = `http://127.0.0.1:${port}/000000000000/${prefix}-${worker}`;
  }
  return {
    env,
    queueName: (worker) => `${prefix}-${worker}`,
    server: () => server,
    stop: async () => {
      const s = server;
      server = undefined;
      await s?.stop();
    },
    start: async () => {
      server = await startFauxqs({ port, logger: false, init });
    },
  };
}
