// Chaos, part 1 of 2 (test/faults/chaos/ci-suite.ts): the first ten of the twenty SIGKILLs CI runs on every submission.
import { chaosSuite } from "./chaos/ci-suite.ts";

chaosSuite(1);
