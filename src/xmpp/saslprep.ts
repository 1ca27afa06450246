// SASLprep (RFC 4013), the stringprep profile SCRAM applies to user names and passwords
// (RFC 5802 2.2). We prepare *query* strings: unassigned code points are let through (RFC 3454 7).
// Tables are RFC 3454's (Unicode 3.2), as [first, last] code point ranges. U+200B is in both
// mapping tables; like Prosody's SASLprep we map it to SPACE.
import { DnaError } from '../verify/errors.ts';

export type SaslprepErrorCode = 'AUTH_SASLPREP';

type Ranges = ReadonlyArray<readonly [number, number]>;

/** C.1.2: non-ASCII space characters, mapped to SPACE (RFC 4013 2.1). */
const NON_ASCII_SPACE: Ranges = [
  [0x00a0, 0x00a0], [0x1680, 0x1680], [0x2000, 0x200b], [0x202f, 0x202f], [0x205f, 0x205f], [0x3000, 0x3000],
];

/** B.1: commonly mapped to nothing (RFC 4013 2.1). */
const MAPPED_TO_NOTHING: Ranges = [
  [0x00ad, 0x00ad], [0x034f, 0x034f], [0x1806, 0x1806], [0x180b, 0x180d], [0x200b, 0x200d], [0x2060, 0x2060],
  [0xfe00, 0xfe0f], [0xfeff, 0xfeff],
];

/** C.1.2, C.2.1, C.2.2, C.3, C.4, C.5, C.6, C.7, C.8, C.9 (RFC 4013 2.3). */
const PROHIBITED: Ranges = [
  ...NON_ASCII_SPACE,
  [0x0000, 0x001f], [0x007f, 0x007f],
  [0x0080, 0x009f], [0x06dd, 0x06dd], [0x070f, 0x070f], [0x180e, 0x180e], [0x200c, 0x200d], [0x2028, 0x2029],
  [0x2060, 0x2063], [0x206a, 0x206f], [0xfeff, 0xfeff], [0xfff9, 0xfffc], [0x1d173, 0x1d17a],
  [0xe000, 0xf8ff], [0xf0000, 0xffffd], [0x100000, 0x10fffd],
  [0xfdd0, 0xfdef], ...nonCharacterPlaneEnds(),
  [0xd800, 0xdfff],
  [0xfff9, 0xfffd],
  [0x2ff0, 0x2ffb],
  [0x0340, 0x0341], [0x200e, 0x200f], [0x202a, 0x202e],
  [0xe0001, 0xe0001], [0xe0020, 0xe007f],
];

/** D.1: characters with bidirectional property R or AL (RandALCat). */
const RAND_AL_CAT: Ranges = [
  [0x05be, 0x05be], [0x05c0, 0x05c0], [0x05c3, 0x05c3], [0x05d0, 0x05ea], [0x05f0, 0x05f4], [0x061b, 0x061b],
  [0x061f, 0x061f], [0x0621, 0x063a], [0x0640, 0x064a], [0x066d, 0x066f], [0x0671, 0x06d5], [0x06dd, 0x06dd],
  [0x06e5, 0x06e6], [0x06fa, 0x06fe], [0x0700, 0x070d], [0x0710, 0x0710], [0x0712, 0x072c], [0x0780, 0x07a5],
  [0x07b1, 0x07b1], [0x200f, 0x200f], [0xfb1d, 0xfb1d], [0xfb1f, 0xfb28], [0xfb2a, 0xfb36], [0xfb38, 0xfb3c],
  [0xfb3e, 0xfb3e], [0xfb40, 0xfb41], [0xfb43, 0xfb44], [0xfb46, 0xfbb1], [0xfbd3, 0xfd3d], [0xfd50, 0xfd8f],
  [0xfd92, 0xfdc7], [0xfdf0, 0xfdfc], [0xfe70, 0xfe74], [0xfe76, 0xfefc],
];

/** C.4's U+nFFFE and U+nFFFF in every plane. */
function nonCharacterPlaneEnds(): Array<readonly [number, number]> {
  return Array.from({ length: 17 }, (_, plane) => [plane * 0x10000 + 0xfffe, plane * 0x10000 + 0xffff] as const);
}

function inRanges(codePoint: number, ranges: Ranges): boolean {
  return ranges.some(([first, last]) => codePoint >= first && codePoint <= last);
}

/**
 * D.2 (LCat, bidirectional property L) is approximated as "a letter (\p{L}) outside D.1": the
 * exact table has 360 ranges. A string the approximation lets through wrongly is refused by the
 * server anyway, since the server prepares the same string.
 */
function isLCat(codePoint: number): boolean {
  return /\p{L}/u.test(String.fromCodePoint(codePoint)) && !inRanges(codePoint, RAND_AL_CAT);
}

function codePointLabel(codePoint: number): string {
  return `U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * Prepares `value` with SASLprep. `what` names the field in the error ("user name", "password").
 * Throws DnaError AUTH_SASLPREP on a prohibited character or a bidi violation.
 */
export function saslprep(value: string, what: string): string {
  const mapped = Array.from(value, (char) => {
    const codePoint = char.codePointAt(0) ?? 0;
    if (inRanges(codePoint, NON_ASCII_SPACE)) return ' ';
    if (inRanges(codePoint, MAPPED_TO_NOTHING)) return '';
    return char;
  }).join('');
  const normalized = mapped.normalize('NFKC');
  const codePoints = Array.from(normalized, (char) => char.codePointAt(0) ?? 0);

  const prohibited = codePoints.find((codePoint) => inRanges(codePoint, PROHIBITED));
  if (prohibited !== undefined) {
    throw new DnaError<SaslprepErrorCode>(
      'AUTH_SASLPREP',
      `The ${what} contains ${codePointLabel(prohibited)}, which SASLprep (RFC 4013 2.3) prohibits; remove that character.`,
    );
  }

  const rightToLeft = codePoints.filter((codePoint) => inRanges(codePoint, RAND_AL_CAT));
  if (rightToLeft.length > 0) {
    const first = codePoints[0] ?? 0;
    const last = codePoints[codePoints.length - 1] ?? 0;
    if (codePoints.some(isLCat) || !inRanges(first, RAND_AL_CAT) || !inRanges(last, RAND_AL_CAT)) {
      throw new DnaError<SaslprepErrorCode>(
        'AUTH_SASLPREP',
        `The ${what} mixes right-to-left and left-to-right text in a way SASLprep (RFC 4013 2.4, RFC 3454 6) prohibits; a right-to-left ${what} must start and end with a right-to-left character and contain no left-to-right letters.`,
      );
    }
  }
  return normalized;
}
