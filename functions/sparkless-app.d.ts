/**
 * "sparkless-app" is the user's app module. The construct (cdk/functions.ts) bundles each handler with
 * esbuild and aliases this name to the module it was given; in this repository tsconfig.json maps it to
 * the example app for the type check. This declaration types it for the package build, which compiles
 * the handlers without any app.
 */
declare module "sparkless-app" {
  const app: import("../lib/app/app.js").AppDefinition;
  export default app;
}
