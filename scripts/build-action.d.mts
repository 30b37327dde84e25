// Types for test/ci/bundle.test.ts, which imports the build script to rebuild the bundle in memory.
export declare const OUT: string;
export declare function bundle(): Promise<string>;
