// fshost: the action executable the cluster manager runs thousands of times a
// day. Thin on purpose: no Foundation, no argument-parsing library (each
// would be paid at every call). Its command line is here (dispatch, help,
// the action's options, exec2); the machinery is in FSHost.
#if canImport(Glibc)
import Glibc
#endif

exit(fshostMain(CommandLine.arguments))
