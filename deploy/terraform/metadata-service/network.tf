resource "aws_security_group" "this" {
  name_prefix = "${local.name}-"
  description = "Metadata service: API 8080 and migrations 8082 from the VPC and from itself"
  vpc_id      = var.metaflow_vpc_id
  tags        = var.standard_tags

  dynamic "ingress" {
    for_each = local.nlb_ports
    content {
      description = "${ingress.key} port from the VPC"
      from_port   = ingress.value.container_port
      to_port     = ingress.value.container_port
      protocol    = "tcp"
      cidr_blocks = var.vpc_cidr_blocks
    }
  }

  ingress {
    description = "everything from itself (the service and the migration function)"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    self        = true
  }

  egress {
    description = "the database, AWS APIs and image pulls"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_lb" "this" {
  name               = substr("${var.resource_prefix}nlb${var.resource_suffix}", 0, 32)
  internal           = true
  load_balancer_type = "network"
  subnets            = [var.subnet1_id, var.subnet2_id]
  tags               = var.standard_tags
}

# One target group and listener per port of the task: the API (listener 80) and the migration
# API (listener 8082). Fault of the original fixed: its migration group health-checked 8080;
# each group now checks its own port (traffic-port).
resource "aws_lb_target_group" "this" {
  for_each    = local.nlb_ports
  name        = substr("${var.resource_prefix}${each.value.target_group}${var.resource_suffix}", 0, 32)
  port        = each.value.container_port
  protocol    = "TCP"
  target_type = "ip"
  vpc_id      = var.metaflow_vpc_id
  tags        = var.standard_tags

  health_check {
    protocol            = "TCP"
    port                = "traffic-port"
    interval            = 10
    healthy_threshold   = 2
    unhealthy_threshold = 2
  }
}

resource "aws_lb_listener" "this" {
  for_each          = local.nlb_ports
  load_balancer_arn = aws_lb.this.arn
  port              = each.value.listener_port
  protocol          = "TCP"
  tags              = var.standard_tags

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this[each.key].arn
  }
}
