// A min-heap of (time, key): which keys the watermark has passed, in time order, without scanning all state.

export class ExpiryQueue {
  private times: number[] = [];
  private keys: string[] = [];

  get size(): number {
    return this.times.length;
  }

  push(time: number, key: string): void {
    this.times.push(time);
    this.keys.push(key);
    let index = this.times.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if ((this.times[parent] as number) <= time) break;
      this.swap(index, parent);
      index = parent;
    }
  }

  /** Removes and returns the keys whose time is at most `watermark`, earliest first (a key may come more than once). */
  popUntil(watermark: number): string[] {
    const expired: string[] = [];
    while (this.times.length > 0 && (this.times[0] as number) <= watermark) {
      expired.push(this.keys[0] as string);
      this.removeTop();
    }
    return expired;
  }

  /** Removes and returns the keys whose time is below `watermark` (strictly), earliest first (a key may come more than once). */
  popBelow(watermark: number): string[] {
    const expired: string[] = [];
    while (this.times.length > 0 && (this.times[0] as number) < watermark) {
      expired.push(this.keys[0] as string);
      this.removeTop();
    }
    return expired;
  }

  private removeTop(): void {
    const lastTime = this.times.pop() as number;
    const lastKey = this.keys.pop() as string;
    if (this.times.length === 0) return;
    this.times[0] = lastTime;
    this.keys[0] = lastKey;
    let index = 0;
    for (;;) {
      const left = index * 2 + 1;
      const right = left + 1;
      let smallest = index;
      if (left < this.times.length && (this.times[left] as number) < (this.times[smallest] as number)) smallest = left;
      if (right < this.times.length && (this.times[right] as number) < (this.times[smallest] as number)) smallest = right;
      if (smallest === index) return;
      this.swap(index, smallest);
      index = smallest;
    }
  }

  private swap(a: number, b: number): void {
    const time = this.times[a] as number;
    this.times[a] = this.times[b] as number;
    this.times[b] = time;
    const key = this.keys[a] as string;
    this.keys[a] = this.keys[b] as string;
    this.keys[b] = key;
  }
}
