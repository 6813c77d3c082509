/**
 * In-process counters, rendered in the Prometheus text format (version 0.0.4)
 * by `GET /metrics`. Counters only — enough to see downloads, bytes and how
 * often the backup had to step in — and no client library: a few Maps and a
 * renderer are all this needs. Each process counts its own; Prometheus sums
 * over replicas.
 */
export type Labels = Record<string, string>;

interface Family {
  help: string;
  series: Map<string, { labels: Labels; value: number }>;
}

/** Metric and label names as Prometheus allows them. */
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export class Metrics {
  private readonly families = new Map<string, Family>();

  /** Declares a counter (idempotent), so it renders as 0 before its first increment. */
  counter(name: string, help: string): void {
    if (!NAME.test(name)) throw new Error(`Invalid metric name ${name}`);
    if (!this.families.has(name)) this.families.set(name, { help, series: new Map() });
  }

  /** Adds `by` (default 1) to the counter's series with these labels. */
  inc(name: string, labels: Labels = {}, by = 1): void {
    const family = this.families.get(name);
    if (!family) throw new Error(`Counter ${name} was not declared`);
    if (!(by >= 0) || !Number.isFinite(by)) throw new Error(`Counters only go up (got ${by} for ${name})`);
    const key = seriesKey(labels);
    const series = family.series.get(key);
    if (series) series.value += by;
    else family.series.set(key, { labels: { ...labels }, value: by });
  }

  /** The current value of one series (tests, admin views). */
  value(name: string, labels: Labels = {}): number {
    return this.families.get(name)?.series.get(seriesKey(labels))?.value ?? 0;
  }

  /** Prometheus text exposition format. */
  render(): string {
    const lines: string[] = [];
    for (const [name, family] of this.families) {
      lines.push(`# HELP ${name} ${family.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} counter`);
      if (family.series.size === 0) lines.push(`${name} 0`);
      for (const { labels, value } of family.series.values()) lines.push(`${name}${renderLabels(labels)} ${value}`);
    }
    return `${lines.join('\n')}\n`;
  }
}

function seriesKey(labels: Labels): string {
  const names = Object.keys(labels).sort();
  for (const n of names) if (!LABEL.test(n)) throw new Error(`Invalid label name ${n}`);
  return names.map((n) => `${n}=${JSON.stringify(labels[n])}`).join(',');
}

function renderLabels(labels: Labels): string {
  const names = Object.keys(labels).sort();
  if (names.length === 0) return '';
  const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
  return `{${names.map((n) => `${n}="${escape(labels[n] ?? '')}"`).join(',')}}`;
}

/** The download counters (declared once per Metrics instance by `downloadMetrics`). */
export const DOWNLOAD_METRICS = {
  downloads: 'ddx_downloads_total',
  bytes: 'ddx_download_bytes_total',
  fallbacks: 'ddx_download_fallbacks_total',
  failures: 'ddx_download_failures_total',
} as const;

export function declareDownloadMetrics(metrics: Metrics): Metrics {
  metrics.counter(DOWNLOAD_METRICS.downloads, 'Downloads started, by kind (stream, preview, link, zip).');
  metrics.counter(DOWNLOAD_METRICS.bytes, 'File bytes sent to clients, by the copy they came from (primary, backup).');
  metrics.counter(DOWNLOAD_METRICS.fallbacks, 'Times a download switched copies, by phase (before_first_byte, mid_stream).');
  metrics.counter(DOWNLOAD_METRICS.failures, 'Downloads that failed because no copy could be read, by phase (before_headers, after_headers).');
  return metrics;
}
