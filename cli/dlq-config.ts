// What `eventfleet dlq` reads: the AWS settings and, per worker, the URLs of its queue and dead-letter queue,
// under the variables the worker role itself reads (workerQueueEnv, named by the topology).
import { awsEnv, parseEnv, type ConfigOf, type EnvSpec } from "../shared/config.ts";
import { workerQueueVariables, type SqsWorker } from "../shared/topology/topology.ts";
import { workerQueueEnv } from "../workers/sqs-runtime/sqs-worker-role.ts";

export interface WorkerQueues {
  worker: SqsWorker;
  queueUrl: string;
  dlqUrl: string;
}

/** The variables `eventfleet dlq` needs for `workers`: each worker role's own queue variables. */
export function dlqQueueEnv(workers: readonly SqsWorker[]): EnvSpec {
  return Object.assign({}, ...workers.map((worker) => workerQueueEnv(worker))) as EnvSpec;
}

/** Reads AWS settings and the queue URLs of `workers`; throws a ConfigError naming a missing or bad variable. */
export function readDlqConfig(
  workers: readonly SqsWorker[],
  env: NodeJS.ProcessEnv = process.env,
): { aws: ConfigOf<typeof awsEnv>; queues: WorkerQueues[] } {
  const config = parseEnv({ ...awsEnv, ...dlqQueueEnv(workers) }, env);
  const urls = config as Record<string, unknown>;
  return {
    aws: config,
    queues: workers.map((worker) => {
      const names = workerQueueVariables(worker);
      return { worker, queueUrl: String(urls[names.queueUrl]), dlqUrl: String(urls[names.dlqUrl]) };
    }),
  };
}
