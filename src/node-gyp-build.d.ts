declare module 'node-gyp-build' {
  /** Loads the prebuilt or locally built addon for the package at dir. */
  function load(dir: string): unknown;
  export = load;
}
