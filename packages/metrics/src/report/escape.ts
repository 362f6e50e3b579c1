// Escaping of text for XML/HTML and Markdown table cells, and fixed-digit number formatting.
import { LesionEncError } from '@lesionenc/base';

/** Escapes the five XML special characters. */
export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Escapes a Markdown table cell: pipes and line breaks would break the row. */
export function escapeMarkdownCell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** Formats a finite number with fixed digits; anything else is an error, never "NaN". */
export function formatNumber(value: number, digits: number, what: string): string {
  if (!Number.isFinite(value)) {
    throw new LesionEncError('INVALID_ARGUMENT', `${what}: expected a finite number, got ${value}`);
  }
  return value.toFixed(digits);
}
