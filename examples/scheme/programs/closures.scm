; Closures: captured variables live in cells; procedures are values.
(define (make-counter)
  (let ((n 0))
    (lambda () (set! n (+ n 1)) n)))

(define a (make-counter))
(define b (make-counter))
(a) (a) (b)
(display (list (a) (b))) (newline)

(define (map f l) (if (null? l) '() (cons (f (car l)) (map f (cdr l)))))
(define (filter keep? l)
  (cond ((null? l) '())
        ((keep? (car l)) (cons (car l) (filter keep? (cdr l))))
        (else (filter keep? (cdr l)))))
(define (fold f acc l) (if (null? l) acc (fold f (f acc (car l)) (cdr l))))
(define (iota n) (let loop ((i (- n 1)) (acc '())) (if (< i 0) acc (loop (- i 1) (cons i acc)))))

(define (compose f g) (lambda (x) (f (g x))))
(define add1 (lambda (x) (+ x 1)))
(define square (lambda (x) (* x x)))

(display (map (compose square add1) (iota 6))) (newline)
(display (filter (lambda (x) (= 0 (modulo x 3))) (iota 20))) (newline)
(display (fold + 0 (map square (iota 1000)))) (newline)

; Each iteration's variable is a fresh binding: closures keep their own.
(define thunks
  (let loop ((i 0) (acc '()))
    (if (= i 5) acc (loop (+ i 1) (cons (lambda () (* i 10)) acc)))))
(display (map (lambda (t) (t)) thunks)) (newline)

; A hot call site whose callee changes.
(define (apply-all f n)
  (let loop ((i 0) (acc 0))
    (if (= i n) acc (loop (+ i 1) (+ acc (f i))))))
(display (apply-all square 5000)) (newline)
(display (apply-all add1 5000)) (newline)
(display (apply-all (lambda (x) (* x 0.5)) 5000)) (newline)

(define (adder n) (lambda (x) (+ x n)))
(define add10 (adder 10))
(display (add10 5)) (newline)
(define (counter-pair)
  (let ((count 0))
    (cons (lambda () (set! count (+ count 1)) count)
          (lambda () count))))
(define p (counter-pair))
((car p)) ((car p)) ((car p))
(display ((cdr p))) (newline)
