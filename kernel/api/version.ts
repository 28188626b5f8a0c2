/**
 * The kernel API this kernel offers. A plugin names the one it is written against as `kernelApi`
 * in its definition; boot refuses any other with `kernel_api_mismatch`. Raised on every change a
 * plugin written for the previous one would break on.
 */
export const KERNEL_API_VERSION = '2';
