// A size in words for plan lines: KiB below a MiB, MiB above, one decimal.
export const shortSize = (n: number): string => (n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`);
