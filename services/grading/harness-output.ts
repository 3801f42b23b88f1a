// The harness output contract moved down to services/checks/harness-output.ts (the checks are
// measured from it); this path stays for the grader, regrades and tests that import it.
export * from '../checks/harness-output.ts';
