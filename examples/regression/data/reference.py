"""Prints scikit-learn 1.2.1's test R² on diabetes.csv's split
(test_size=0.2, random_state=0), the numbers cmd/mlrun/iris_test.go's
TestRegressionExampleMatchesScikitLearn checks:

    /usr/bin/python3 examples/regression/data/reference.py
"""
from sklearn.datasets import load_diabetes
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split

X, y = load_diabetes(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
for name, model in [("linear_regression", LinearRegression()), ("ridge", Ridge()),
                    ("random_forest", RandomForestRegressor(random_state=0))]:
    print(name, repr(r2_score(y_test, model.fit(X_train, y_train).predict(X_test))))
