// Latency recording in an HDR histogram (microsecond resolution, reported in milliseconds).
// Deep imports on purpose: the package index also loads its log writer, whose module-level `Intl.NumberFormat` pages in
// about 6 MB of ICU data at import (measured: ARCHITECTURE.md, "Memory footprint"); the builder and the codec do not need it.
import { build } from "hdr-histogram-js/dist/HistogramBuilder.js";
import { decodeFromCompressedBase64, encodeIntoCompressedBase64 } from "hdr-histogram-js/dist/encoding.js";
import type { Histogram } from "hdr-histogram-js";

export interface LatencyPercentiles {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

export class LatencyRecorder {
  private histogram: Histogram = newHistogram();

  /** Records `count` rows that took `milliseconds` from ingest to here. */
  record(milliseconds: number, count: number): void {
    const micros = Math.max(1, Math.min(Math.round(milliseconds * 1000), 3_600_000_000));
    this.histogram.recordValueWithCount(micros, count);
  }

  get count(): number {
    return this.histogram.totalCount;
  }

  percentiles(): LatencyPercentiles {
    return percentilesOf(this.histogram);
  }

  /** Adds another recorder's (encoded) figures to this one. */
  merge(encoded: string): void {
    const other = decodeFromCompressedBase64(encoded, 32, false);
    this.histogram.add(other);
    other.destroy();
  }

  encode(): string {
    return encodeIntoCompressedBase64(this.histogram);
  }

  reset(): void {
    this.histogram.reset();
  }
}

function newHistogram(): Histogram {
  return build({ bitBucketSize: 32, autoResize: true, lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
}

function percentilesOf(histogram: Histogram): LatencyPercentiles {
  if (histogram.totalCount === 0) return { count: 0, p50: 0, p99: 0, p999: 0, max: 0 };
  const ms = (micros: number) => Math.round(micros) / 1000;
  return {
    count: histogram.totalCount,
    p50: ms(histogram.getValueAtPercentile(50)),
    p99: ms(histogram.getValueAtPercentile(99)),
    p999: ms(histogram.getValueAtPercentile(99.9)),
    max: ms(histogram.maxValue),
  };
}
