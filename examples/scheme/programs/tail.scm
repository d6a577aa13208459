; Proper tail calls: mutual recursion a million deep runs in constant space.
(define (my-even? n) (if (= n 0) #t (my-odd? (- n 1))))
(define (my-odd? n) (if (= n 0) #f (my-even? (- n 1))))
(display (my-even? 1000000)) (newline)
(display (my-odd? 777777)) (newline)
(define (count-down n) (cond ((= n 0) 'done) (else (count-down (- n 1)))))
(display (count-down 3000000)) (newline)
; Deep non-tail recursion.
(define (depth n) (if (= n 0) 0 (+ 1 (depth (- n 1)))))
(display (depth 100000)) (newline)
