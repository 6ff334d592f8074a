module github.com/datasurface/datasurface/services/validator

go 1.26.0
