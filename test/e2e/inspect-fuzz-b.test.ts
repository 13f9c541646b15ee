// Fuzz: at least 1,000 mutated or truncated files per format through `deployforge inspect`;
// every run exits 0 or 3 with one line naming a DF_ code. (Formats are split over two files so
// the runner can use both cores.)
import { defineInspectFuzzSuite } from '../helpers/fuzz-inspect.js';

defineInspectFuzzSuite(['hive', 'hive-log', 'vhd', 'vhd-fixed', 'cab', 'msu', 'unattend', 'reg'], 20261200);
