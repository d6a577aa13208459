; Recursion through a global procedure: calls get hot, the optimizing tier
; speculates on integer arithmetic and on the callee.
(define (fib n)
  (if (< n 2)
      n
      (+ (fib (- n 1)) (fib (- n 2)))))

; Never called, so never compiled: the runner's --stats count it among the
; functions but not among those compiled.
(define (fib-iterative n)
  (do ((i 0 (+ i 1)) (a 0 b) (b 1 (+ a b))) ((= i n) a)))

(define (show-fib n)
  (display "fib(") (display n) (display ") = ") (display (fib n)) (newline))

(show-fib 0)
(show-fib 1)
(show-fib 10)
(show-fib 27)
