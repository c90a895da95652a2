// ESLint over the TypeScript sources: the recommended rules of ESLint and typescript-eslint (without type
// information, so `npm test` stays fast), with the exceptions this codebase takes on purpose listed below.
// Formatting is Prettier's (.prettierrc.json), checked by `npm run lint` too.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "cdk.out/**", "**/*.d.ts", "docs/**", "tools/bench/results/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.{ts,mts,js,mjs}"],
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: "module",
      globals: {
        process: "readonly",
        console: "readonly",
        Buffer: "readonly",
        URL: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        setInterval: "readonly",
        clearInterval: "readonly",
        setImmediate: "readonly",
        queueMicrotask: "readonly",
        structuredClone: "readonly",
        TextEncoder: "readonly",
        TextDecoder: "readonly",
        AbortController: "readonly",
        AbortSignal: "readonly",
        performance: "readonly",
        fetch: "readonly",
        globalThis: "readonly",
      },
    },
    rules: {
      // Spark's API is generic over user data: `any` appears where Scala has `_` and type erasure.
      "@typescript-eslint/no-explicit-any": "off",
      // Unused arguments keep Spark's signatures readable; unused variables are errors.
      "@typescript-eslint/no-unused-vars": [
        "error",
        { args: "none", caughtErrors: "none", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" },
      ],
      // `while (true)` loops with explicit exits (attempt loops, pollers).
      "no-constant-condition": ["error", { checkLoops: false }],
      // Interfaces that extend one type are the SDK's and Spark's shapes.
      "@typescript-eslint/no-empty-object-type": "off",
      // `this` aliases inside RDD closures that must not capture the RDD.
      "@typescript-eslint/no-this-alias": "off",
      // Control characters in regular expressions are deliberate (record and log parsing).
      "no-control-regex": "off",
      // A `let` read by a closure before its one assignment (a fault armed later) stays a `let`.
      "prefer-const": ["error", { ignoreReadBeforeAssign: true }],
    },
  },
);
