// SPDX-License-Identifier: MPL-2.0
// small_vector<T, N>: a vector whose first N elements live in the object
// itself, so that a message of a few frames costs no allocation of its own.
//
// Past N it moves to the heap and grows by doubling, as std::vector does.
// Elements move by construction (T must not throw when moved); a move of
// the vector moves its elements one by one while they are inline, and
// steals the heap block once they are not. A type that declares itself
// relocatable (its bytes may be copied elsewhere and the original dropped
// without its destructor: no pointer into itself, as for a frame) moves
// inline as copies of its bytes instead. Iterators are pointers, valid
// until the next insertion or erase.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace zmtp::detail {

// Specialized to true by a type whose objects may be moved by copying
// their bytes, the source then being forgotten (not destroyed).
template <class T>
inline constexpr bool relocatable = false;

template <class T, std::size_t N>
class small_vector {
    static_assert(N > 0);
    static_assert(std::is_nothrow_move_constructible_v<T>);

public:
    using value_type = T;
    using iterator = T*;
    using const_iterator = const T*;

    // User-provided, so that a value-initialized vector (`message{}`) does
    // not zero its inline storage first.
    small_vector() noexcept {}
    small_vector(std::initializer_list<T> items) : small_vector()
    {
        reserve(items.size());
        for (const T& item : items)
            emplace_back(item);
    }
    small_vector(const small_vector& o) : small_vector()
    {
        reserve(o.size_);
        for (const T& item : o)
            emplace_back(item);
    }
    small_vector(small_vector&& o) noexcept : small_vector() { take(o); }
    small_vector& operator=(const small_vector& o)
    {
        if (this != &o) {
            small_vector copy(o);
            *this = std::move(copy);
        }
        return *this;
    }
    small_vector& operator=(small_vector&& o) noexcept
    {
        if (this != &o) {
            clear();
            free_heap();
            take(o);
        }
        return *this;
    }
    ~small_vector()
    {
        clear();
        free_heap();
    }

    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    std::size_t capacity() const noexcept { return capacity_; }
    // True while the elements live in the object itself (for tests).
    bool is_inline() const noexcept { return data_ == inline_data(); }

    T* data() noexcept { return data_; }
    const T* data() const noexcept { return data_; }
    T& operator[](std::size_t i) noexcept { return data_[i]; }
    const T& operator[](std::size_t i) const noexcept { return data_[i]; }
    T& front() noexcept { return data_[0]; }
    const T& front() const noexcept { return data_[0]; }
    T& back() noexcept { return data_[size_ - 1]; }
    const T& back() const noexcept { return data_[size_ - 1]; }
    iterator begin() noexcept { return data_; }
    iterator end() noexcept { return data_ + size_; }
    const_iterator begin() const noexcept { return data_; }
    const_iterator end() const noexcept { return data_ + size_; }

    template <class... Args>
    T& emplace_back(Args&&... args)
    {
        if (size_ == capacity_)
            return grow_and_emplace(std::forward<Args>(args)...);
        T* item = ::new (static_cast<void*>(data_ + size_)) T(std::forward<Args>(args)...);
        ++size_;
        return *item;
    }
    void push_back(const T& item) { emplace_back(item); }
    void push_back(T&& item) { emplace_back(std::move(item)); }

    void reserve(std::size_t n)
    {
        if (n > capacity_)
            move_to(allocate(n), n);
    }

    // Removes the element at `pos`; the ones behind it move up.
    iterator erase(const_iterator pos) noexcept
    {
        T* at = data_ + (pos - data_);
        std::move(at + 1, end(), at);
        std::destroy_at(data_ + size_ - 1);
        --size_;
        return at;
    }

    void clear() noexcept
    {
        std::destroy(data_, data_ + size_);
        size_ = 0;
    }

    friend bool operator==(const small_vector& a, const small_vector& b)
    {
        return std::equal(a.begin(), a.end(), b.begin(), b.end());
    }

private:
    T* inline_data() noexcept { return std::launder(reinterpret_cast<T*>(inline_)); }
    const T* inline_data() const noexcept { return std::launder(reinterpret_cast<const T*>(inline_)); }

    static T* allocate(std::size_t n) { return std::allocator<T>{}.allocate(n); }

    void free_heap() noexcept
    {
        if (!is_inline())
            std::allocator<T>{}.deallocate(data_, capacity_);
        data_ = inline_data();
        capacity_ = N;
    }

    // Moves the elements into `fresh` (capacity n), which becomes the storage.
    void move_to(T* fresh, std::size_t n) noexcept
    {
        std::uninitialized_move(data_, data_ + size_, fresh);
        std::destroy(data_, data_ + size_);
        free_heap();
        data_ = fresh;
        capacity_ = static_cast<std::uint32_t>(n);
    }

    // The new element is made before the old ones move: `args` may refer
    // to one of them.
    template <class... Args>
    T& grow_and_emplace(Args&&... args)
    {
        const std::size_t n = std::size_t{capacity_} * 2;
        T* fresh = allocate(n);
        T* item;
        try {
            item = ::new (static_cast<void*>(fresh + size_)) T(std::forward<Args>(args)...);
        } catch (...) {
            std::allocator<T>{}.deallocate(fresh, n);
            throw;
        }
        move_to(fresh, n);
        ++size_;
        return *item;
    }

    // Takes o's elements; o is left empty and inline.
    void take(small_vector& o) noexcept
    {
        if (o.is_inline()) {
            if constexpr (relocatable<T>) {
                // Element by element, each a copy of a known size (a few
                // vector moves, no call); the source's are forgotten.
                for (std::uint32_t i = 0; i < o.size_; ++i)
                    std::memcpy(inline_ + i * sizeof(T), o.inline_ + i * sizeof(T), sizeof(T));
                size_ = std::exchange(o.size_, 0);
            } else {
                std::uninitialized_move(o.begin(), o.end(), data_);
                size_ = o.size_;
                o.clear();
            }
            return;
        }
        data_ = std::exchange(o.data_, o.inline_data());
        capacity_ = std::exchange(o.capacity_, static_cast<std::uint32_t>(N));
        size_ = std::exchange(o.size_, 0);
    }

    T* data_ = inline_data();
    std::uint32_t size_ = 0;
    std::uint32_t capacity_ = N;
    alignas(T) std::byte inline_[N * sizeof(T)];
};

} // namespace zmtp::detail
