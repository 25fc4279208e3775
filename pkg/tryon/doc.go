// Package tryon holds the domain of the Tryon backend: tenants, API keys,
// generations, money, the provider and storage interfaces, and the one coded
// error type that every layer speaks.
//
// It depends on nothing else in the module. The adapters (postgres, the
// providers, storage, the HTTP layer) depend on it, never the other way, so a
// reader can learn the whole model from this folder alone.
package tryon
