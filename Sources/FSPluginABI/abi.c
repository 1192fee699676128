/* SwiftPM needs one source file in a C target; the ABI is the header. */
#include "fshost_plugin.h"
