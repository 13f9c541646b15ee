// Fuzz: at least 1,000 mutated or truncated files per format through `deployforge inspect`;
// every run exits 0 or 3 with one line naming a DF_ code. (Formats are split over two files so
// the runner can use both cores.)
import { defineInspectFuzzSuite } from '../helpers/fuzz-inspect.js';

defineInspectFuzzSuite(['iso', 'iso-udf', 'wim', 'esd', 'swm', 'ppkg', 'vhdx'], 20261121);
