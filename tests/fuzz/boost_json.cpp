// Boost.JSON compiled into the fuzz targets, so that it is instrumented too.
#include <boost/json/src.hpp>
