// Chaos, part 2 of 2 (test/faults/chaos/ci-suite.ts): the second ten of the twenty SIGKILLs CI runs on every submission.
import { chaosSuite } from "./chaos/ci-suite.ts";

chaosSuite(2);
