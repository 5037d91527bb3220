// Text that people write (names, addresses, ids, reasons): any script and emoji, but no control characters,
// bidirectional overrides or lone surrogates, which no such text needs and which spoof or break what shows it.
import { z } from "zod";

/** C0 and C1 controls, bidi embeddings/overrides (U+202A-E) and isolates (U+2066-9), lone surrogates. */
const UNSAFE_ONE_LINE = "\\u0000-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069\\uD800-\\uDFFF";
/** The same, less tab, line feed and carriage return. */
const UNSAFE_MULTI_LINE =
  "\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069\\uD800-\\uDFFF";

// The patterns are also the JSON Schema `pattern` of these fields (ajv and Python's re read these escapes alike).
const ONE_LINE = new RegExp(`^[^${UNSAFE_ONE_LINE}]*$`, "u");
const MULTI_LINE = new RegExp(`^[^${UNSAFE_MULTI_LINE}]*$`, "u");

/** One line of text: a name, an address line, an id. */
export const oneLineText = () =>
  z.string().regex(ONE_LINE, "no control characters, bidirectional overrides or lone surrogates");

/** Free text that may span lines (tab, CR and LF allowed). */
export const multiLineText = () =>
  z
    .string()
    .regex(
      MULTI_LINE,
      "no control characters other than tab and line breaks, bidirectional overrides or lone surrogates",
    );
