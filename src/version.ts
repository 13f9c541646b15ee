// The tool's version, in one place (package.json carries the same number; a test checks they agree).
export const VERSION = '0.1.0';
