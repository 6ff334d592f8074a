module github.com/datasurface/datasurface/services/scheduler

go 1.26.0
