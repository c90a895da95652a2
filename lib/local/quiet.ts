/**
 * The AWS SDK warns once per process that its 2027 releases need Node 22.
 * Local runs start several processes, so the same paragraph would print
 * several times over the demo's output. It is only a warning
 * (see docs/local-engines.md); every other warning still prints.
 */
const emit = process.emitWarning.bind(process) as (...args: unknown[]) => void;
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const text = typeof warning === "string" ? warning : warning?.message;
  if (typeof text === "string" && text.startsWith("NodeVersionSupportWarning")) return;
  emit(warning, ...rest);
}) as typeof process.emitWarning;
export {};
