// The encoder's string dictionary (frame-dictionary.ts): codes in first-seen order from 1 in every frame, strings that
// share the table's hash told apart, and nothing of one frame found in the next, after the table and after the Map.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FrameDictionary } from "../../src/actors/frame-dictionary.ts";

/** Each string's code in a new frame of `dictionary`, and the frame's strings after. */
function frameOf(dictionary: FrameDictionary, values: readonly string[]): { codes: number[]; strings: string[] } {
  dictionary.begin();
  const codes = values.map((value) => dictionary.codeOf(value));
  return { codes, strings: [...dictionary.strings] };
}

/** The codes a fresh dictionary must give: each string's 1-based place among the distinct strings, in first-seen order. */
function expected(values: readonly string[]): { codes: number[]; strings: string[] } {
  const strings = [...new Set(values)];
  return { codes: values.map((value) => strings.indexOf(value) + 1), strings };
}

describe("frame dictionary", () => {
  it("gives the same codes as a fresh dictionary in every frame: empty strings, look-alikes, a frame past the table, each frame's strings again in the next", () => {
    // The same length, middle and last characters (and first): one slot of the table for all of them.
    const alike = Array.from({ length: 12 }, (_, index) => `a${String.fromCharCode(65 + index)}_${String.fromCharCode(97 + index)}z`);
    const frames = [
      ["", "x", "", "naïve ☃ 𝄞", "x", ...alike, ...alike.reverse(), "xy"],
      ["xy", "", "𝄞", "x"],
      Array.from({ length: 1_500 }, (_, index) => `w${index % 900}`),
      ["w1", "", "w899", ...alike],
      Array.from({ length: 600 }, (_, index) => `v${index}`).concat([""]),
      ["", "v0", "w1"],
    ];
    const dictionary = new FrameDictionary();
    for (const values of frames) {
      assert.deepEqual(frameOf(dictionary, values), expected(values));
      // The same strings in the next frame, last first: each must get this frame's code, none the frame before's.
      const again = [...values].reverse();
      assert.deepEqual(frameOf(dictionary, again), expected(again));
    }
  });
});
