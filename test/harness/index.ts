/** The suites' harness is the public plugin test kit; kept here so existing imports stay valid. */
export * from '../../kernel/testing';
