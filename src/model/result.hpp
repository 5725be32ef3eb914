#pragma once

#include <cassert>
#include <utility>
#include <variant>

#include "model/error.hpp"

namespace mf {

// A value or an Error: how every store operation and domain rule reports failure.
template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
    Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}

    bool ok() const { return state_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & { return std::get<0>(state_); }
    const T& value() const& { return std::get<0>(state_); }
    T&& value() && { return std::get<0>(std::move(state_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }

    const Error& error() const { return std::get<1>(state_); }
    Error&& take_error() { return std::get<1>(std::move(state_)); }

private:
    std::variant<T, Error> state_;
};

struct Ok {};
using Status = Result<Ok>;

}  // namespace mf
