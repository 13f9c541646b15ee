// Fuzz: at least 1,000 mutated or truncated files per format through `deployforge inspect`;
// every run exits 0 or 3 with one line naming a DF_ code. (Formats are split over two files so
// the runner can use both cores.)
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { makeTempDir } from '../helpers/corpus.js';
import { type FixtureKind, makeFixture } from '../helpers/fixtures.js';
import { fuzzInspect } from '../helpers/fuzz-inspect.js';

const KINDS: FixtureKind[] = ['hive', 'hive-log', 'vhd', 'vhd-fixed', 'cab', 'msu', 'unattend', 'reg'];
const RUNS = Number(process.env.DEPLOYFORGE_FUZZ_RUNS ?? 1000);

describe('inspect survives malformed input', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  before(async () => {
    tmp = await makeTempDir('deployforge-fuzz-');
  });
  after(async () => {
    await tmp.cleanup();
  });

  for (const [i, kind] of KINDS.entries()) {
    test(`${kind}: ${RUNS} mutated or truncated files give exit 0 or a one-line exit-3 error`, async () => {
      const seedFile = await makeFixture(kind, tmp.path);
      const outcome = await fuzzInspect(seedFile, tmp.path, RUNS, 20261121 + i);
      assert.equal(outcome.runs, RUNS);
      // The mutations must break things often, or the test proves little. A transaction log is
      // read up to its first bad entry by design, so most damage there is reported, not refused.
      const share = kind === 'hive-log' ? 0.02 : 0.1;
      assert.ok(outcome.rejected > RUNS * share, `only ${outcome.rejected} of ${RUNS} variants were rejected`);
    });
  }
});
