// fshost: the action executable the cluster manager runs thousands of times a
// day. Thin on purpose: no Foundation, no argument-parsing library (each
// would be paid at every call, DESIGN.md §5). Everything is in FSHost.
import FSHost
#if canImport(Glibc)
import Glibc
#endif

exit(fshostMain(CommandLine.arguments))
