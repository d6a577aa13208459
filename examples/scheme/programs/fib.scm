; Recursion through a global procedure: calls get hot, the optimizing tier
; speculates on integer arithmetic and on the callee.
(define (fib n)
  (if (< n 2)
      n
      (+ (fib (- n 1)) (fib (- n 2)))))

(define (show-fib n)
  (display "fib(") (display n) (display ") = ") (display (fib n)) (newline))

(show-fib 0)
(show-fib 1)
(show-fib 10)
(show-fib 27)
