// SPDX-License-Identifier: MPL-2.0
// fifo<T>: the queue every connection, peer and socket keeps (bytes to
// write, messages in and out, waiting operations).
//
// A ring buffer whose capacity doubles as it fills. Unlike std::deque, an
// empty fifo owns no memory (libstdc++'s deque allocates about 600 bytes
// when constructed, and again when moved from), and the first allocation is
// sized to about 256 bytes: an idle connection holds a dozen of these
// queues, most of them never used. Growing moves the elements, so
// references to them last only until the next push; erase() in the middle
// shifts the elements behind it.
#pragma once

#include <cstddef>
#include <iterator>
#include <memory>
#include <utility>

namespace zmtp::detail {

template <class T>
class fifo {
public:
    fifo() noexcept = default;
    fifo(fifo&& o) noexcept
        : slots_(std::exchange(o.slots_, nullptr)),
          capacity_(std::exchange(o.capacity_, 0)),
          head_(std::exchange(o.head_, 0)),
          size_(std::exchange(o.size_, 0))
    {
    }
    fifo& operator=(fifo&& o) noexcept
    {
        if (this != &o) {
            fifo gone(std::move(*this));
            swap(o);
        }
        return *this;
    }
    fifo(const fifo&) = delete;
    fifo& operator=(const fifo&) = delete;
    ~fifo()
    {
        clear();
        if (slots_ != nullptr)
            std::allocator<T>{}.deallocate(slots_, capacity_);
    }

    void swap(fifo& o) noexcept
    {
        std::swap(slots_, o.slots_);
        std::swap(capacity_, o.capacity_);
        std::swap(head_, o.head_);
        std::swap(size_, o.size_);
    }

    bool empty() const noexcept { return size_ == 0; }
    std::size_t size() const noexcept { return size_; }

    T& front() noexcept { return slot(0); }
    const T& front() const noexcept { return slot(0); }
    T& back() noexcept { return slot(size_ - 1); }
    const T& back() const noexcept { return slot(size_ - 1); }
    T& operator[](std::size_t i) noexcept { return slot(i); }
    const T& operator[](std::size_t i) const noexcept { return slot(i); }

    template <class... Args>
    T& emplace_back(Args&&... args)
    {
        if (size_ == capacity_)
            grow();
        T* p = std::construct_at(&slot(size_), std::forward<Args>(args)...);
        ++size_;
        return *p;
    }
    void push_back(T&& v) { emplace_back(std::move(v)); }
    void push_back(const T& v) { emplace_back(v); }
    void push_front(T&& v)
    {
        if (size_ == capacity_)
            grow();
        const std::size_t at = (head_ + capacity_ - 1) & (capacity_ - 1);
        std::construct_at(slots_ + at, std::move(v));
        head_ = at;
        ++size_;
    }

    void pop_front() noexcept
    {
        std::destroy_at(&slot(0));
        head_ = (head_ + 1) & (capacity_ - 1);
        --size_;
    }
    void pop_back() noexcept
    {
        std::destroy_at(&slot(size_ - 1));
        --size_;
    }
    // Destroys the elements and keeps the storage.
    void clear() noexcept
    {
        while (size_ != 0)
            pop_back();
        head_ = 0;
    }

    template <class Q, class V>
    class basic_iterator {
    public:
        using iterator_category = std::random_access_iterator_tag;
        using value_type = T;
        using difference_type = std::ptrdiff_t;
        using pointer = V*;
        using reference = V&;

        basic_iterator() = default;
        basic_iterator(Q* q, std::size_t i) : q_(q), i_(i) {}

        reference operator*() const { return (*q_)[i_]; }
        pointer operator->() const { return &(*q_)[i_]; }
        reference operator[](difference_type n) const { return (*q_)[i_ + n]; }
        basic_iterator& operator++() { ++i_; return *this; }
        basic_iterator operator++(int) { auto t = *this; ++i_; return t; }
        basic_iterator& operator--() { --i_; return *this; }
        basic_iterator operator--(int) { auto t = *this; --i_; return t; }
        basic_iterator& operator+=(difference_type n) { i_ += n; return *this; }
        basic_iterator& operator-=(difference_type n) { i_ -= n; return *this; }
        friend basic_iterator operator+(basic_iterator a, difference_type n) { return a += n; }
        friend basic_iterator operator+(difference_type n, basic_iterator a) { return a += n; }
        friend basic_iterator operator-(basic_iterator a, difference_type n) { return a -= n; }
        friend difference_type operator-(basic_iterator a, basic_iterator b)
        {
            return static_cast<difference_type>(a.i_) - static_cast<difference_type>(b.i_);
        }
        friend bool operator==(basic_iterator a, basic_iterator b) { return a.i_ == b.i_; }
        friend auto operator<=>(basic_iterator a, basic_iterator b) { return a.i_ <=> b.i_; }

    private:
        friend class fifo;
        Q* q_ = nullptr;
        std::size_t i_ = 0;
    };
    using iterator = basic_iterator<fifo, T>;
    using const_iterator = basic_iterator<const fifo, const T>;

    iterator begin() noexcept { return {this, 0}; }
    iterator end() noexcept { return {this, size_}; }
    const_iterator begin() const noexcept { return {this, 0}; }
    const_iterator end() const noexcept { return {this, size_}; }

    // Removes one element; those behind it move up. Returns the element
    // that now holds its place. Elements are moved by construction, never
    // by assignment: Boost 1.81's any_completion_handler cannot be
    // move-assigned (its operator= wraps the handler in itself, endlessly).
    iterator erase(iterator where)
    {
        const std::size_t at = where.i_;
        if (at == 0) {
            pop_front();
            return begin();
        }
        for (std::size_t i = at; i + 1 < size_; ++i) {
            std::destroy_at(&slot(i));
            std::construct_at(&slot(i), std::move(slot(i + 1)));
        }
        pop_back();
        return {this, at};
    }

private:
    // The first allocation: about 256 bytes, at least 2 slots (a power of 2).
    static constexpr std::size_t first_capacity()
    {
        std::size_t n = 2;
        while (n * 2 * sizeof(T) <= 256)
            n *= 2;
        return n;
    }

    T& slot(std::size_t i) const noexcept { return slots_[(head_ + i) & (capacity_ - 1)]; }

    void grow()
    {
        const std::size_t capacity = capacity_ == 0 ? first_capacity() : capacity_ * 2;
        T* slots = std::allocator<T>{}.allocate(capacity);
        for (std::size_t i = 0; i < size_; ++i) {
            std::construct_at(slots + i, std::move(slot(i)));
            std::destroy_at(&slot(i));
        }
        if (slots_ != nullptr)
            std::allocator<T>{}.deallocate(slots_, capacity_);
        slots_ = slots;
        capacity_ = capacity;
        head_ = 0;
    }

    T* slots_ = nullptr;
    std::size_t capacity_ = 0; // 0 or a power of 2
    std::size_t head_ = 0;
    std::size_t size_ = 0;
};

} // namespace zmtp::detail
