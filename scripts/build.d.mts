/** Types of scripts/build.mjs for the TypeScript that imports it (the sync bench). */
export declare const NODE_FLAGS: string[];
export declare function bundle(entry: string, outfile: string): Promise<void>;
