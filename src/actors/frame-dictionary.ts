// The string dictionary of the frame being encoded (row-columns.ts): each distinct string gets a code, its 1-based
// position in the frame's dictionary.
//
// Most string columns hold a few values that repeat (labels, device names), so the lookup must cost about one
// comparison a value. A Map hashes every string it has not seen as that very object (a new string per row hashes
// anew) and is a call per lookup; a scan of the dictionary is many comparisons. This table is open-addressed on a
// cheap hash (the length and two characters, the middle and the last) that V8 computes inline; a string is compared with the one or two
// candidates of its slot, and internalized strings (literals, keys) compare by identity. Strings that this hash does
// not tell apart (long probes), or a frame with more than MAX_OPEN distinct strings, make the rest of the frame use a Map.
// A slot is empty when its key is undefined; a frame empties the slots it used when the next one begins (a list of
// them), so that a probe loads one key and compares it, with no stamp to load and compare first.

/** Slots in the table, a power of two; at most half are used in one frame. */
const SLOTS = 1024;
const MASK = SLOTS - 1;
const MAX_OPEN = SLOTS >> 1;
/** Comparisons one lookup may take in the table before the frame moves to a Map. */
const MAX_PROBES = 8;

export class FrameDictionary {
  /** The frame's strings in code order (code = index + 1). */
  readonly strings: string[] = [];
  /** The frame's strings by slot; undefined where empty. */
  private readonly keys: (string | undefined)[] = new Array<string | undefined>(SLOTS).fill(undefined);
  private readonly codes = new Int32Array(SLOTS);
  /** The slots this frame filled (strings.length of them, until the frame moves to a Map). */
  private readonly used = new Int32Array(MAX_OPEN);
  private usedCount = 0;
  /** Set once the table stops being enough for this frame. */
  private map: Map<string, number> | undefined;
  private readonly spareMap = new Map<string, number>();

  /** Starts a frame: an empty dictionary. */
  begin(): void {
    this.strings.length = 0;
    // The last frame's strings are not kept alive by the Map until a later frame needs it.
    this.map?.clear();
    this.map = undefined;
    const { keys, used } = this;
    for (let index = 0; index < this.usedCount; index++) keys[used[index] as number] = undefined;
    this.usedCount = 0;
  }

  /** The string's code in this frame, adding it when it is new. */
  codeOf(value: string): number {
    if (this.map !== undefined) return this.mapped(this.map, value);
    const keys = this.keys;
    const length = value.length;
    let slot = length === 0 ? 0 : (Math.imul(length, 0x9e3779b1) ^ Math.imul(value.charCodeAt(length >> 1), 0x85ebca6b) ^ Math.imul(value.charCodeAt(length - 1), 0xc2b2ae35)) >>> 0;
    slot = (slot ^ (slot >>> 15)) & MASK;
    for (let probe = 0; probe < MAX_PROBES; probe++) {
      const key = keys[slot];
      if (key === value) return this.codes[slot] as number;
      if (key === undefined) {
        if (this.usedCount >= MAX_OPEN) break;
        keys[slot] = value;
        this.used[this.usedCount++] = slot;
        const code = this.strings.push(value);
        this.codes[slot] = code;
        return code;
      }
      slot = (slot + 1) & MASK;
    }
    return this.mapped(this.toMap(), value);
  }

  private toMap(): Map<string, number> {
    const map = this.spareMap;
    map.clear();
    const strings = this.strings;
    for (let index = 0; index < strings.length; index++) map.set(strings[index] as string, index + 1);
    this.map = map;
    return map;
  }

  private mapped(map: Map<string, number>, value: string): number {
    let code = map.get(value);
    if (code === undefined) {
      code = this.strings.push(value);
      map.set(value, code);
    }
    return code;
  }
}
