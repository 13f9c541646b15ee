// MS-DOS date and time words (as in CFFILE date/time, MS-CAB 2.3) to an ISO-like string.
// DOS times carry no zone, so the string has none either; we do not guess one.

/** `YYYY-MM-DDTHH:MM:SS`, or null when a field is out of range (month 0, hour 25...). */
export function dosDateTimeToIso(date: number, time: number): string | null {
  const day = date & 0x1f;
  const month = (date >> 5) & 0x0f;
  const year = 1980 + ((date >> 9) & 0x7f);
  const seconds = (time & 0x1f) * 2;
  const minutes = (time >> 5) & 0x3f;
  const hours = (time >> 11) & 0x1f;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hours > 23 || minutes > 59 || seconds > 59) return null;
  const two = (n: number) => String(n).padStart(2, '0');
  return `${year}-${two(month)}-${two(day)}T${two(hours)}:${two(minutes)}:${two(seconds)}`;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}
