/**
 * What XML 1.0 cannot carry at all, not even as a character reference (§2.2 Char): C0 controls
 * but tab, LF and CR; U+FFFE and U+FFFF; lone surrogates. Parsing refuses them; writing replaces them.
 */
export const NOT_XML_CHAR_PATTERN = String.raw`[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]`;

export const NOT_XML_CHAR = new RegExp(NOT_XML_CHAR_PATTERN);
