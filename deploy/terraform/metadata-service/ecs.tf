resource "aws_cloudwatch_log_group" "this" {
  name = "/ecs/${local.name}"
  # Fault of the original fixed: the log group never expired.
  retention_in_days = var.log_retention_in_days
  tags              = var.standard_tags
}

resource "aws_ecs_cluster" "this" {
  name = local.name
  tags = var.standard_tags
}

resource "aws_ecs_task_definition" "this" {
  family                   = local.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.metadata_service_cpu
  memory                   = var.metadata_service_memory
  execution_role_arn       = var.fargate_execution_role_arn
  task_role_arn            = aws_iam_role.task.arn
  tags                     = var.standard_tags

  # No command: the image's default (`serve`) serves the API on 8080 and migrations on 8082.
  # No container health check either: the NLB checks both ports over TCP, and any image that
  # serves the reference's ports keeps working.
  container_definitions = jsonencode([
    {
      name      = "metadata-service"
      image     = local.container_image
      essential = true
      cpu       = var.metadata_service_cpu
      memory    = var.metadata_service_memory
      portMappings = [
        { containerPort = local.api_port, hostPort = local.api_port, protocol = "tcp" },
        { containerPort = local.migration_port, hostPort = local.migration_port, protocol = "tcp" },
      ]
      environment = [
        { name = "MF_METADATA_DB_HOST", value = local.database_host },
        { name = "MF_METADATA_DB_PORT", value = local.database_port },
        { name = "MF_METADATA_DB_USER", value = var.database_username },
        { name = "MF_METADATA_DB_NAME", value = var.database_name },
        { name = "MF_METADATA_DB_SSL_MODE", value = var.database_ssl_mode },
        { name = "MF_METADATA_PORT", value = tostring(local.api_port) },
        { name = "MF_MIGRATION_PORT", value = tostring(local.migration_port) },
      ]
      secrets = concat(
        [{ name = "MF_METADATA_DB_PSWD", valueFrom = aws_secretsmanager_secret.database_password.arn }],
        var.metadata_service_api_keys_secret_arn == null ? [] : [
          { name = "MF_METADATA_API_KEYS", valueFrom = var.metadata_service_api_keys_secret_arn },
        ],
      )
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.this.name
          awslogs-region        = data.aws_region.current.name
          awslogs-stream-prefix = "metadata-service"
        }
      }
    }
  ])

  depends_on = [aws_secretsmanager_secret_version.database_password]
}

resource "aws_ecs_service" "this" {
  name            = local.name
  cluster         = aws_ecs_cluster.this.id
  task_definition = aws_ecs_task_definition.this.arn
  desired_count   = var.metadata_service_desired_count
  launch_type     = "FARGATE"
  tags            = var.standard_tags

  network_configuration {
    subnets          = [var.subnet1_id, var.subnet2_id]
    security_groups  = [aws_security_group.this.id]
    assign_public_ip = var.with_public_ip
  }

  dynamic "load_balancer" {
    for_each = local.nlb_ports
    content {
      target_group_arn = aws_lb_target_group.this[load_balancer.key].arn
      container_name   = "metadata-service"
      container_port   = load_balancer.value.container_port
    }
  }

  depends_on = [aws_lb_listener.this, aws_iam_role_policy.execution_read_task_secrets]
}
