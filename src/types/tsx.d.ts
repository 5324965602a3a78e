// `import 'tsx'` (tsx's main entry) is imported for its side effect only: it registers the hooks
// that let Node load .ts modules. It has no typed exports.
declare module 'tsx' {}
