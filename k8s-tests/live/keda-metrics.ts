// Reading KEDA's own figures: the operator's Prometheus endpoint (keda_scaler_metrics_value, keda_scaler_errors_total)
// and the ScaledObjects' conditions.
import type * as k8s from "@kubernetes/client-node";

export interface Sample {
  labels: Record<string, string>;
  value: number;
}

/** Every sample of `metric` on a Prometheus text page. */
export function samples(page: string, metric: string): Sample[] {
  const out: Sample[] = [];
  for (const line of page.split("\n")) {
    if (!line.startsWith(`${metric}{`) && !line.startsWith(`${metric} `)) continue;
    const open = line.indexOf("{");
    const close = line.lastIndexOf("}");
    const labels: Record<string, string> = {};
    if (open > 0) {
      for (const m of line.slice(open + 1, close).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
        labels[m[1]!] = m[2]!;
    }
    out.push({
      labels,
      value: Number(
        line
          .slice((close > 0 ? close : metric.length) + 1)
          .trim()
          .split(" ")[0],
      ),
    });
  }
  return out;
}

/** KEDA's current metric value for one ScaledObject (keda_scaler_metrics_value), or undefined before its first poll. */
export async function kedaScalerValue(
  metricsUrl: string,
  namespace: string,
  scaledObject: string,
): Promise<number | undefined> {
  const page = await (await fetch(metricsUrl)).text();
  return samples(page, "keda_scaler_metrics_value").find(
    (s) => s.labels.namespace === namespace && s.labels.scaledObject === scaledObject,
  )?.value;
}

interface ScaledObject {
  metadata: { name: string };
  status?: { conditions?: { type: string; status: string; message?: string }[] };
}

/** The ScaledObjects of `namespace` with their Ready condition (status and message). */
export async function scaledObjectsReady(
  custom: k8s.CustomObjectsApi,
  namespace: string,
): Promise<{ name: string; ready: boolean; message: string }[]> {
  const list = (await custom.listNamespacedCustomObject({
    group: "keda.sh",
    version: "v1alpha1",
    namespace,
    plural: "scaledobjects",
  })) as { items: ScaledObject[] };
  return list.items.map((so) => {
    const ready = so.status?.conditions?.find((c) => c.type === "Ready");
    return {
      name: so.metadata.name,
      ready: ready?.status === "True",
      message: ready?.message ?? "no status yet",
    };
  });
}
