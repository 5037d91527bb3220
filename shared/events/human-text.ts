// Text that people write (names, addresses, ids, reasons): any script and emoji, but no control characters,
// bidirectional overrides or lone surrogates, which no such text needs and which spoof or break what shows it.
import { z } from "zod";

/** C0 and C1 controls, bidi embeddings/overrides (U+202A-E) and isolates (U+2066-9). */
const UNSAFE_ONE_LINE = "\\u0000-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069";
/** The same, less tab, line feed and carriage return. */
const UNSAFE_MULTI_LINE =
  "\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069";

// The patterns are also the JSON Schema `pattern` of these fields, in the syntax every validator reads (ECMA,
// Python, Rust). Lone surrogates are refused by the refinement instead: a surrogate range in a pattern is not
// portable (Rust's regex refuses it), and I-JSON (RFC 7493), which the API speaks, has no lone surrogates.
const ONE_LINE = new RegExp(`^[^${UNSAFE_ONE_LINE}]*$`, "u");
const MULTI_LINE = new RegExp(`^[^${UNSAFE_MULTI_LINE}]*$`, "u");
const NO_LONE_SURROGATES = "no lone surrogates (text must be well-formed Unicode)";

/** One line of text: a name, an address line, an id. */
export const oneLineText = () =>
  z
    .string()
    .regex(ONE_LINE, "no control characters or bidirectional overrides")
    .refine((text) => text.isWellFormed(), NO_LONE_SURROGATES);

/** Free text that may span lines (tab, CR and LF allowed). */
export const multiLineText = () =>
  z
    .string()
    .regex(MULTI_LINE, "no control characters other than tab and line breaks, and no bidirectional overrides")
    .refine((text) => text.isWellFormed(), NO_LONE_SURROGATES);
