module github.com/datasurface/datasurface/services/merge

go 1.26.0
